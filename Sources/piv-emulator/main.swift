print("piv-emulator: not yet built")
