"""Small helpers every part of the product shares, one per job: the clock, months, money, CSV,
email and history records. Pure where they can be; none imports budgeting/, integrations/ or
tenants/."""
