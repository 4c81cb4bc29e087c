-- A person's username is their email, as in Sym ("username: email, or bot username"): plugins
-- compare it with lists of emails, and a local part names two people in two domains alike.
-- A bot's username is a name of its own, which holds no `@` and so never meets an email.

-- Names that were made from the email (its local part, or the email itself after a clash)
-- and any name that looks like an email become the email; a name given on purpose stays.
UPDATE users SET username = email
WHERE substr(email, 1, length(username) + 1) = username || '@'
   OR username LIKE '%@%';

-- Should two users still share a name, the later one gives way to its email, which is
-- unique in the organisation.
UPDATE users SET username = email
WHERE EXISTS (
    SELECT 1 FROM users AS earlier
    WHERE earlier.org_id = users.org_id
      AND earlier.username = users.username
      AND earlier.id < users.id
);

CREATE UNIQUE INDEX users_by_username ON users (org_id, username);
