// Test harnesses for real peers.
