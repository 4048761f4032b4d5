-- Box replacement / restore bookkeeping (field-ready issue): filled in by the change that owns it.
SELECT 1;
