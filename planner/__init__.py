"""planner: an experience portfolio investment planner.

Load finance's workbook, plan the portfolio with a mixed-integer optimiser, and report:

    from planner import read_portfolio, plan_portfolio
    portfolio = read_portfolio("scenarios/example-portfolio.xlsx")
    plan = plan_portfolio(portfolio)
"""
