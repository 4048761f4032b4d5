-- Per-outlet PIN verifiers (security issue H2): filled in by the change that owns it.
SELECT 1;
