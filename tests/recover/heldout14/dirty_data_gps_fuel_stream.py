"""Fuel-rate regression for delivery vans from a streamed GPS log with glitched fixes.

Model: a 3-layer MLP (8 -> 64 -> 64 -> 1, GELU) trained with Adam (lr 2e-3)
and MSE loss to predict the engine fuel rate (L/h, read from the CAN bus,
scaled by 1/10) of a delivery van over one GPS segment from kinematic
features derived from two consecutive GPS fixes: speed, acceleration,
vertical rate, heading change, segment duration, sin/cos of the hour of day
and a loaded/empty flag.  Batch 32, 300 optimizer steps.

Data: a synthetic GPS log of 30 trips x 90 fixes (one fix every 2-6 s)
generated in-script, with the CAN-bus fuel rate logged alongside each fix.  A torch.utils.data.IterableDataset streams
the log in recorded order (trip after trip, no shuffling, restarted at every
epoch) and turns each pair of consecutive fixes of a trip into one training
row on the fly: distance by the haversine formula, speed = distance / dt,
acceleration = (speed - previous speed) / dt, vertical rate = dz / dt.  Each
row is a dict that also holds the trip id (a string such as "VAN07-T0012")
and the segment number inside the trip (a Python int); a custom collate_fn
turns a list of rows into a `SegmentBatch` namedtuple.

What goes wrong: the logger glitched twice.  In trip 8 a fix was written
twice with the same timestamp but a slightly moved position, so the segment
into it has dt = 0: speed = distance / 0 = +inf, and the following segment's
acceleration becomes -inf.  In trip 19 the receiver lost its lock for one
fix and wrote NaN coordinates: both segments touching that fix get a NaN
distance/speed, and the segment after them a NaN acceleration.  The stream
computes its features with no checks, so these rows reach the model; the
first batch that contains one gives an inf/NaN loss, backward fills every
gradient with NaN and Adam destroys all weights, so every later loss is NaN.
bad_samples below are positions in the stream of rows yielded by the
IterableDataset during one pass (0-based; every epoch replays the same
stream of 2670 rows, so the same positions come back at every pass): rows
752-753 are trip 8 segments 40-41, rows 1747-1749 trip 19 segments 56-58.
The DataLoader batches the stream 32 rows at a time.  Without --clean the
first non-finite loss is at step 23 (steps counted from 0).

--clean: the stream drops, before computing features, every fix whose
coordinates are missing and every fix whose timestamp does not advance past
the previous kept fix (the standard GPS clean-up), so the glitched rows are
never produced.  Model, seed, optimizer and number of steps are unchanged,
and the run trains to a small error.
"""
# recover-heldout: {"category": "dirty_data", "bad_samples": [752, 753, 1747, 1748, 1749], "nan_step": 23}

import argparse
import math
from collections import namedtuple

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, IterableDataset

N_TRIPS = 30
FIXES_PER_TRIP = 90
EARTH_R = 6371000.0

SegmentBatch = namedtuple("SegmentBatch", ["features", "target", "trip_ids", "seg_nums"])


def fuel_rate_lph(speed, accel, vrate, loaded):
    """Engine fuel rate (L/h) as reported by the CAN bus, from the true kinematics."""
    mass_t = 2.6 + 0.9 * loaded
    power_kw = mass_t * (0.012 * 9.81 * speed + accel.clamp(min=0.0) * speed + 9.81 * vrate) + 4e-4 * speed ** 3
    return 1.1 + 0.25 * power_kw.clamp(min=0.0)


def make_gps_log(seed=0):
    """Return the raw log: a list of trips, each a dict of per-fix tensors."""
    g = torch.Generator().manual_seed(seed)
    trips = []
    for t in range(N_TRIPS):
        n = FIXES_PER_TRIP
        dt = 2.0 + 4.0 * torch.rand(n, generator=g)
        time_s = 6 * 3600.0 + 1500.0 * t + torch.cumsum(dt.double(), 0)
        phase = torch.rand(3, generator=g) * 6.28
        k = torch.arange(n, dtype=torch.float32)
        speed = (8.0 + 5.0 * torch.sin(k / 9.0 + phase[0]) + 3.0 * torch.sin(k / 4.0 + phase[1])).clamp(min=0.0)
        heading = torch.cumsum(0.15 * torch.randn(n, generator=g), 0) + phase[2]
        step_m = speed * dt
        lat0 = 52.37 + 0.05 * torch.rand(1, generator=g).double()
        lon0 = 4.89 + 0.05 * torch.rand(1, generator=g).double()
        dlat = (step_m * torch.cos(heading)).double() / EARTH_R * 180.0 / math.pi
        dlon = (step_m * torch.sin(heading)).double() / (EARTH_R * math.cos(math.radians(52.4))) * 180.0 / math.pi
        lat = lat0 + torch.cumsum(dlat, 0)
        lon = lon0 + torch.cumsum(dlon, 0)
        elev = 2.0 + torch.cumsum(0.4 * torch.randn(n, generator=g), 0)
        loaded = float(torch.rand(1, generator=g) < 0.5)
        accel = torch.cat([torch.zeros(1), (speed[1:] - speed[:-1]) / dt[1:]])
        vrate = torch.cat([torch.zeros(1), (elev[1:] - elev[:-1]) / dt[1:]])
        fuel = fuel_rate_lph(speed, accel, vrate, loaded) + 0.15 * torch.randn(n, generator=g)
        trips.append({
            "trip_id": f"VAN{t % 9:02d}-T{t:04d}",
            "time": time_s, "lat": lat, "lon": lon, "elev": elev,
            "fuel": fuel,            # CAN-bus fuel rate over the segment ending at this fix
            "loaded": loaded,
        })

    # ---- logger glitches ----
    tr = trips[8]    # fix 41 written with the timestamp of fix 40, position nudged by the filter
    tr["time"][41] = tr["time"][40]
    tr["lat"][41] = tr["lat"][40] + 2e-5
    tr = trips[19]   # lost GPS lock for fix 57
    tr["lat"][57] = float("nan")
    tr["lon"][57] = float("nan")
    return trips


def haversine_m(lat1, lon1, lat2, lon2):
    p1, p2 = torch.deg2rad(lat1), torch.deg2rad(lat2)
    dphi = p2 - p1
    dlmb = torch.deg2rad(lon2 - lon1)
    a = torch.sin(dphi / 2) ** 2 + torch.cos(p1) * torch.cos(p2) * torch.sin(dlmb / 2) ** 2
    return 2 * EARTH_R * torch.asin(torch.sqrt(a))


def bearing(lat1, lon1, lat2, lon2):
    p1, p2 = torch.deg2rad(lat1), torch.deg2rad(lat2)
    dlmb = torch.deg2rad(lon2 - lon1)
    y = torch.sin(dlmb) * torch.cos(p2)
    x = torch.cos(p1) * torch.sin(p2) - torch.sin(p1) * torch.cos(p2) * torch.cos(dlmb)
    return torch.atan2(y, x)


class GPSSegmentStream(IterableDataset):
    """Streams one feature row per pair of consecutive fixes, trip after trip."""

    def __init__(self, trips, clean=False):
        super().__init__()
        self.trips = trips
        self.clean = clean

    def _kept_fixes(self, trip):
        n = trip["time"].shape[0]
        if not self.clean:
            return torch.arange(n)
        keep, last_t = [], None
        for i in range(n):
            if not (torch.isfinite(trip["lat"][i]) and torch.isfinite(trip["lon"][i])):
                continue                       # no GPS lock
            if last_t is not None and trip["time"][i] <= last_t:
                continue                       # duplicated / non-advancing timestamp
            keep.append(i)
            last_t = trip["time"][i]
        return torch.tensor(keep)

    def __iter__(self):
        for trip in self.trips:                # read the log one trip at a time
            idx = self._kept_fixes(trip)
            t, lat, lon = trip["time"][idx], trip["lat"][idx], trip["lon"][idx]
            z, fuel = trip["elev"][idx], trip["fuel"][idx]
            dt = (t[1:] - t[:-1]).float()
            dist = haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:]).float()
            speed = dist / dt
            accel = torch.cat([torch.zeros(1), (speed[1:] - speed[:-1]) / dt[1:]])
            vrate = (z[1:] - z[:-1]) / dt
            brg = bearing(lat[:-1], lon[:-1], lat[1:], lon[1:]).float()
            dturn = torch.cat([torch.zeros(1), torch.remainder(brg[1:] - brg[:-1] + math.pi, 2 * math.pi) - math.pi])
            hour = (t[1:].float() / 3600.0) % 24.0
            for s in range(dt.shape[0]):
                feats = torch.stack([
                    speed[s] / 10.0, accel[s], vrate[s], dturn[s], dt[s] / 4.0,
                    torch.sin(2 * math.pi * hour[s] / 24.0), torch.cos(2 * math.pi * hour[s] / 24.0),
                    torch.tensor(trip["loaded"]),
                ]).float()
                yield {
                    "trip_id": trip["trip_id"],
                    "seg_num": s,
                    "features": feats,
                    "fuel_lph": float(fuel[s + 1]),
                }


def collate_segments(rows):
    return SegmentBatch(
        features=torch.stack([r["features"] for r in rows]),
        target=torch.tensor([[r["fuel_lph"] / 10.0] for r in rows], dtype=torch.float32),
        trip_ids=[r["trip_id"] for r in rows],
        seg_nums=[r["seg_num"] for r in rows],
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", action="store_true",
                    help="drop fixes with missing coordinates or non-advancing timestamps")
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(77)

    trips = make_gps_log(seed=3)
    stream = GPSSegmentStream(trips, clean=args.clean)
    loader = DataLoader(stream, batch_size=32, collate_fn=collate_segments, num_workers=0)

    model = nn.Sequential(
        nn.Linear(8, 64), nn.GELU(),
        nn.Linear(64, 64), nn.GELU(),
        nn.Linear(64, 1),
    )
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.MSELoss()

    losses = []
    step = 0
    epoch = 0
    while step < args.steps:
        epoch += 1
        for batch in loader:
            if step >= args.steps:
                break
            pred = model(batch.features)
            loss = loss_fn(pred, batch.target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if step % 25 == 0:
                print(f"epoch {epoch} step {step:4d} loss {loss.item():.5f}")
            step += 1

    final = sum(losses[-20:]) / 20
    print(f"final_loss={final}")


if __name__ == "__main__":
    main()
