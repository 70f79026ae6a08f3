import tensorflow as tf

opt = tf.keras.optimizers.Adam(learning_rate=1e-3)
opt2 = tf.keras.optimizers.Adam(1e-3, 0.9, 0.999, 1e-7)
opt3 = tf.train.AdamOptimizer(learning_rate=1e-4)
opt4 = tf.keras.optimizers.SGD(learning_rate=0.01, momentum=0.0)
