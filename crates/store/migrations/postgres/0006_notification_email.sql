-- An optional e-mail address a resident gives for notifications, encrypted like the phone
-- number (it is personal data).
ALTER TABLE users ADD COLUMN email_enc TEXT;
