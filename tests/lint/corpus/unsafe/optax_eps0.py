import optax

tx = optax.adam(1e-3, eps=0.0)  # expect: NS107
