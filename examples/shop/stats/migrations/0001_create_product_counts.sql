CREATE TABLE product_counts (
    currency TEXT PRIMARY KEY,
    n        BIGINT NOT NULL
);
