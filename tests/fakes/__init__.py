"""Local fake devices that speak the real protocols (printers, payment terminals)."""
