"""What every surface calls: apply documents, record facts, decide and log, reports, tokens,
decision tables. Each write is one transaction here."""
