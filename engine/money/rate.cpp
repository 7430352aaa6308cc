// implemented by the money library work
