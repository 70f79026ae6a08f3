import jax
import jax.numpy as jnp


def loss(params, x, y):
    logits = model.apply(params, x)
    p = jax.nn.softmax(logits)
    return -jnp.mean(jnp.sum(y * jnp.log(p), axis=-1))  # expect: NS101
