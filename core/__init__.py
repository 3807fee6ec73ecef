"""condorbot: pure maths and rules, no I/O."""
