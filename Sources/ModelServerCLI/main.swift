print("model-server")
