"""Recovery from non-finite steps at run time (`--recover auto`).

The ladder (`ladder.decide`) maps the evidence of each non-finite step to an action:
skip the step, quarantine the offending samples, clip gradients with a threshold from
the run's own statistics, roll back to a good state and lower the step size, or stop
with the diagnosis when the budgets are spent. `auto.AutoRecovery` carries it out.
Only `rollback`, `clip`, `backoff` and `auto` import torch.
"""

from nansentry.recover.config import RecoveryConfig
from nansentry.recover.ladder import Evidence, Plan, decide
from nansentry.recover.quarantine import Quarantine
from nansentry.recover.state import Counters, RecoveryState

__all__ = ["Counters", "Evidence", "Plan", "Quarantine", "RecoveryConfig", "RecoveryState", "decide"]
