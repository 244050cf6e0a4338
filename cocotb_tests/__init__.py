"""Stage 5: cocotb testbenches on the generated RTL (driver, monitor, scoreboard) and their runner."""
