"""The firm dashboard: every client organisation on one screen with its Xero connection, sync
state, reconciliation and latest variance summary, and Sync now with its live row.

It sits above the ledger and variance packages because it shows both; neither knows it exists."""
