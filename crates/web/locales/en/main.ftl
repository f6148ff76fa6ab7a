site-name = Qinghe Tongban
site-tagline = Qinghe County one-stop government services
skip-to-content = Skip to content
nav-home = Home
nav-departments = Departments
nav-townships = Towns
nav-api = Open API
switch-language = 中文
switch-language-hint = (switch to Chinese)
care-on = Large text
care-on-hint = (turn on large text and large buttons)
care-off = Standard view
care-off-hint = (turn off large text)
prefs-label = Display settings
search-label = Search for a service
search-placeholder = e.g. business licence, social insurance, yyzz
search-button = Search
home-title = Every government service in one place
home-intro = Type what you need to do, or browse by life event.
life-events = Services by life event
popular-items = Popular services
township-channels = Towns
all-departments = All departments
hotline-note = Not sure where to go? Call the 12345 government service hotline.
event-birth = Birth
event-schooling = School
event-employment = Work
event-marriage = Marriage and children
event-business = Starting a business
event-housing = Housing
event-medical = Medical care
event-retirement = Old age
event-disability = Disability
event-relief = Hardship support
event-veterans = Veterans
event-death = Bereavement
event-travel = Travel and vehicles
event-farming = Farming
results-title = Search results
results-for = Results for “{ $query }”
results-count = { $total ->
    [one] 1 service found
   *[other] { $total } services found
}
results-none = No services found
results-none-help = Try other words, for example “执照” instead of “营业证”, or browse by department. You can also call 12345.
results-page = Page { $page }
results-next = Next page
results-prev = Previous page
filters = Filters
filter-department = Department
filter-level = Where it is handled
filter-event = Life event
filter-target = For
filter-any = Any
filter-apply = Apply filters
level-county = County
level-township = Town service centre
level-village = Village service station
faq-title = Frequently asked questions
guide-basic = Basic information
guide-code = Item code
guide-type = Type
guide-department = Handled by
guide-target = For
guide-level = Where it is handled
guide-legal-basis = Legal basis
guide-time-limit = Time limit
guide-promised = Promised
guide-statutory = Statutory
guide-days = { $days ->
    [one] 1 working day
   *[other] { $days } working days
}
guide-immediate = Same day (on the spot)
guide-visits = In-person visits
guide-zero-trips = None: fully online
guide-visits-n = { $n ->
    [one] At most 1 visit
   *[other] At most { $n } visits
}
guide-fee = Fee
guide-free = Free
guide-fee-amount = ¥{ $amount }
guide-fee-basis = Fee basis
guide-online = Online service
online-0 = Guide only
online-1 = Forms to download
online-2 = Apply online
online-3 = Fully online
online-4 = Fully online, result delivered
guide-agent = Village agent
guide-agent-yes = A village agent may apply for you
guide-agent-no = Apply in person or through an authorised representative
guide-materials = Documents to bring
guide-material-name = Document
guide-material-form = Form
guide-material-count = Copies
guide-material-required = Required
guide-required = Required
guide-conditional = If applicable
guide-no-materials = No documents needed
guide-steps = Steps
guide-place = Where and when
guide-place-label = Place
guide-hours-label = Hours
guide-print = Print this guide
guide-print-hint = Use your browser's Print command to print this page.
guide-related-faq = Frequently asked questions
guide-life-events = Life events
guide-contact = Enquiries
target-individual = Individuals
target-legal = Organisations
dept-duties = Responsibilities
dept-phone = Phone
dept-address = Address
dept-items = Services ({ $n })
dept-no-items = No services published yet
dept-township-items = Services at the town service centre
township-villages = Villages and communities
township-local-items = Handled at the town service centre and village stations
township-county-items = County services residents use most
township-office = Town government
departments-title = Departments and towns
departments-county = County departments
departments-townships = Town governments
badge-zero-trips = No visit
badge-visits = { $n ->
    [one] 1 visit
   *[other] { $n } visits
}
badge-immediate = Same day
badge-days = { $days ->
    [one] 1 working day
   *[other] { $days } working days
}
badge-free = Free
badge-fee = Fee
badge-online = Online
not-found-title = Page not found
not-found-body = The page you asked for does not exist or has moved. Search from the home page.
bad-request-title = Bad request
server-error-title = Something went wrong
server-error-body = The service has a problem. Please try again later, or call 12345.
back-home = Back to home
api-docs-title = Open API
api-docs-intro = These endpoints return JSON. The machine-readable OpenAPI 3.1 description is at
footer-note = Qinghe County People's Government · demo system with sample data
