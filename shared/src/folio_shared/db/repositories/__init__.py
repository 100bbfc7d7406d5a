"""All of Folio's SQL, grouped by table. Repository functions take an
``AsyncSession``, flush but never commit: the caller owns the transaction
(one request or one task is one transaction)."""
