"""`/api/ai`: plans of QERS requests made from a task description, for review only."""
