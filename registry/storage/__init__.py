"""The registry in the database: tables, sessions and transactions, and every SQL query."""
