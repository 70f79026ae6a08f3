import jax
import jax.numpy as jnp
import optax


def loss(params, x, y):
    logits = model.apply(params, x)
    return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(logits), axis=-1))


def loss2(logits, labels):
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


tx = optax.adam(1e-3)
