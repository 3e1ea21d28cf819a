"""The bottom layer: what every stage of the flow may import, and which imports no stage.

`formatting` words numbers for a reader (money, percent, quarters, marginal values),
`files` writes a file whole or not at all, `ooxml` holds the Office Open XML pieces that
every .xlsx writer shares. Nothing here imports PuLP, pandas or another planner package.
(The domain objects, economics, the plan and the error classes move here in the rest of
the restructure; see docs/architecture.md.)
"""
