"""The layers of the stack between engines and P&L."""
