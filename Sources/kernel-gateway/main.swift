print("kernel-gateway: not yet serving")
