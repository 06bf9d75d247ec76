"""Small helpers every part of the product shares, one per job: the clock, months, money, CSV
and email. Pure where they can be; none imports budgeting/, integrations/ or tenants/."""
