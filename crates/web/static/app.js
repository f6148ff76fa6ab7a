// Progressive enhancement only: every page works without this file.
(function () {
  'use strict';
  document.documentElement.classList.add('js');
  document.addEventListener('DOMContentLoaded', function () {
    var buttons = document.querySelectorAll('[data-print]');
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;
      buttons[i].addEventListener('click', function () { window.print(); });
    }
    // Filters apply as soon as a choice changes.
    var selects = document.querySelectorAll('.filter-form select');
    for (var j = 0; j < selects.length; j++) {
      selects[j].addEventListener('change', function (e) { e.target.form.submit(); });
    }
  });
})();
