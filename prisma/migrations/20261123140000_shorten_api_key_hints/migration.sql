-- A key's hint was its first 10 characters, a quarter of the key; keep only what
-- src/auth/secrets.ts apiKeyHint now keeps: the m2_ prefix and four characters of a
-- generated key, at most an eighth (and four characters) of a key supplied from outside.
UPDATE "api_key"
SET "hint" = CASE
  WHEN "hint" LIKE 'm2\_%' THEN left("hint", 7)
  ELSE left("hint", 2)
END;
