CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('customer', 'admin')),
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL
);

-- The service stores each address normalised, so this index makes one
-- account per address whatever case a client sends it in.
CREATE UNIQUE INDEX users_email ON users (email);
