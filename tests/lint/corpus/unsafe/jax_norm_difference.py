import jax.numpy as jnp


def pairwise(a, b):
    return jnp.linalg.norm(a - b, axis=-1)  # expect: NS104
