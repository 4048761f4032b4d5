-- Persistent PIN login attempts (security issue H3): filled in by the change that owns it.
SELECT 1;
