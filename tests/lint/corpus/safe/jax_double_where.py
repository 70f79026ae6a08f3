import jax.numpy as jnp


def norm(x):
    s = jnp.sum(x ** 2, axis=-1)
    safe_s = jnp.where(s == 0, 1.0, s)
    return jnp.where(s == 0, 0.0, jnp.sqrt(safe_s))
