import math
import numpy as np
import torch

W_bound = numpy.sqrt(6.0 / (fan_in + fan_out))
std = math.sqrt(2.0 / fan_in)
scale = 1 / math.sqrt(d_k)
attn = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
attn2 = q @ k.transpose(-2, -1) * q.size(-1) ** -0.5
t = torch.tensor(2.0).sqrt()
std_np = np.sqrt(np.mean((x - x.mean()) ** 2))
