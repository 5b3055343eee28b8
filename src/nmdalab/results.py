"""Results: time courses of a virtual population, with where they came from.

The data are an :class:`xarray.DataArray` with dimensions ``arm x patient x time x variable``
(time in h).  Units are in ``results.units``; covariates (weight, age) and a per-patient solver
status come along.  Provenance (scenario, model hash, parameter-set hashes and sources, solver
settings, seed, package version) is kept in ``results.provenance`` and written as JSON metadata
into every file (never pickle).
"""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np
import pandas as pd
import xarray as xr

from .analysis import endpoints as ep_mod
from .units import to as to_hours

_META_KEY = b"nmdalab"


class Results:
    """Time courses ``arm x patient x time x variable`` plus covariates and provenance."""

    def __init__(self, data: xr.DataArray, units: dict[str, str], covariates: pd.DataFrame,
                 status: pd.DataFrame, provenance: dict, endpoint_specs: list[dict] | None = None):
        self.data = data
        self.units = dict(units)
        self.covariates = covariates
        self.status = status
        self.provenance = provenance
        self.endpoint_specs = endpoint_specs if endpoint_specs is not None else provenance.get("scenario", {}).get("endpoints", [])

    # -- access -----------------------------------------------------------------------------
    @property
    def arms(self) -> list[str]:
        return [str(a) for a in self.data.coords["arm"].values]

    @property
    def time(self) -> np.ndarray:
        return self.data.coords["time"].values

    @property
    def variables(self) -> list[str]:
        return [str(v) for v in self.data.coords["variable"].values]

    def __getitem__(self, variable: str) -> xr.DataArray:
        """One variable as ``arm x patient x time``."""
        if variable not in self.variables:
            from .errors import did_you_mean

            raise KeyError(f"no variable {variable!r} in these results.{did_you_mean(variable, self.variables)}")
        da = self.data.sel(variable=variable)
        da.attrs["unit"] = self.units.get(variable, "")
        return da

    def failed(self) -> pd.DataFrame:
        """Patients whose solve failed (their time courses are NaN)."""
        return self.status[self.status["status"] != "ok"]

    # -- endpoints --------------------------------------------------------------------------
    def endpoint_values(self, spec: dict, arm: str) -> np.ndarray:
        """Per-patient values of one endpoint (a dict as in the scenario) for one arm."""
        kind = spec["kind"]
        var = self._variable(spec)
        values = self[var].sel(arm=arm).values
        at = to_hours(spec["at"], "h", "at") if spec.get("at") is not None else None
        if kind in ("response_rate", "remission_rate", "median_time_to_relapse"):
            from .model.mood import REMISSION_CUTOFF

            after = to_hours(spec["after"], "h", "after") if spec.get("after") is not None else None
            cutoff = spec.get("cutoff", REMISSION_CUTOFF.get(spec.get("scale"), 10.0))
            return ep_mod.scale_per_patient(kind, self.time, values, at=at, threshold=spec.get("threshold"),
                                            cutoff=cutoff, after=after)
        window = None
        if spec.get("window") is not None:
            window = tuple(to_hours(w, "h", "window") for w in spec["window"])
        return ep_mod.per_patient(kind, self.time, values, at=at, window=window)

    def endpoints(self, specs: list[dict] | None = None) -> dict:
        """The ``summary.json`` layout: ``{"scenario", "arms": {arm: {"n", "endpoints"}}}``."""
        specs = self.endpoint_specs if specs is None else specs
        out = {"scenario": self.provenance.get("scenario", {}).get("name", ""), "arms": {}}
        for arm in self.arms:
            eps = {}
            for spec in specs:
                spec = dict(spec)
                vals = self.endpoint_values(spec, arm)
                if spec["kind"] in ep_mod.RATE_KINDS:
                    eps[spec["name"]] = ep_mod.summarise_rate(vals)
                elif spec["kind"] == "median_time_to_relapse":
                    eps[spec["name"]] = ep_mod.summarise_relapse(vals)
                else:
                    unit = ep_mod.unit_of(spec["kind"], self.units[self._variable(spec)])
                    eps[spec["name"]] = ep_mod.summarise(vals, unit)
            out["arms"][arm] = {"n": int(self.data.sizes["patient"]), "endpoints": eps}
        return out

    @staticmethod
    def _variable(spec: dict) -> str:
        """The variable an endpoint reads: ``variable``, or the mood-layer variable of ``scale``."""
        if spec.get("variable") is not None:
            return spec["variable"]
        from .model.mood import SCALES

        return SCALES[spec["scale"]]

    # -- tables and files -------------------------------------------------------------------
    def to_dataframe(self, variables: list[str] | None = None) -> pd.DataFrame:
        """Long-by-time, wide-by-variable table: columns arm, patient, time_h, then variables."""
        da = self.data if variables is None else self.data.sel(variable=variables)
        arr = da.transpose("arm", "patient", "time", "variable").values
        n_arm, n_pat, n_t, n_var = arr.shape
        idx = pd.MultiIndex.from_product(
            [self.arms, np.arange(n_pat), self.time], names=["arm", "patient", "time_h"]
        )
        df = pd.DataFrame(arr.reshape(-1, n_var), index=idx, columns=[str(v) for v in da.coords["variable"].values])
        return df.reset_index()

    def to_parquet(self, path: str | os.PathLike, variables: list[str] | None = None) -> None:
        """Write the time courses as Parquet with provenance and units in the file metadata.

        The file is written to a temporary name and renamed, so a reader never sees half a file.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(self.to_dataframe(variables), preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[_META_KEY] = json.dumps(
            {"provenance": self.provenance, "units": self.units, "covariates": self.covariates.to_dict(orient="list"),
             "status": self.status.to_dict(orient="list")},
            default=str,
        ).encode()
        table = table.replace_schema_metadata(meta)
        _atomic(path, lambda tmp: pq.write_table(table, tmp))

    @classmethod
    def from_parquet(cls, path: str | os.PathLike) -> Results:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        meta = json.loads(table.schema.metadata[_META_KEY])
        df = table.to_pandas()
        arms = list(dict.fromkeys(df["arm"]))
        variables = [c for c in df.columns if c not in ("arm", "patient", "time_h")]
        times = np.unique(df["time_h"].to_numpy())
        n_pat = int(df["patient"].max()) + 1
        arr = df[variables].to_numpy().reshape(len(arms), n_pat, len(times), len(variables))
        data = xr.DataArray(arr, dims=("arm", "patient", "time", "variable"),
                            coords={"arm": arms, "patient": np.arange(n_pat), "time": times, "variable": variables})
        return cls(data, meta["units"], pd.DataFrame(meta["covariates"]), pd.DataFrame(meta["status"]), meta["provenance"])

    def to_netcdf(self, path: str | os.PathLike) -> None:
        ds = self.data.to_dataset(dim="variable")
        ds.attrs["nmdalab"] = json.dumps({"provenance": self.provenance, "units": self.units}, default=str)
        _atomic(path, lambda tmp: ds.to_netcdf(tmp))

    def __repr__(self) -> str:
        s = self.data.sizes
        return (f"<Results {self.provenance.get('scenario', {}).get('name', '')!r}: {s['arm']} arm(s) x "
                f"{s['patient']} patient(s) x {s['time']} times x {s['variable']} variables>")


def _atomic(path, write) -> None:
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=os.path.splitext(path)[1])
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
