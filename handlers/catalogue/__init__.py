"""What can be simulated: the registered scenarios and the reality profiles."""
