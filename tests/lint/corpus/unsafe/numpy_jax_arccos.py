import jax.numpy as jnp


def geodesic(u, v):
    return jnp.arccos(jnp.sum(u * v, axis=-1))  # expect: NS106
