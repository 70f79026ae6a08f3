import tensorflow as tf

cell = tf.nn.rnn_cell.BasicRNNCell(num_units=128, activation=tf.nn.relu)  # expect: NS109
lstm = tf.nn.rnn_cell.LSTMCell(256, activation=tf.nn.elu)  # expect: NS109
