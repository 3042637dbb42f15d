print("echo-kernel")
