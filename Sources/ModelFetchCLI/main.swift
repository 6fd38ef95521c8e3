print("model-fetch")
