print("gateway-bench")
