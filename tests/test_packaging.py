"""The package as a user installs it: the wheel's core alone in a fresh virtual environment
estimates a trace and imports no extra; a feature whose extra is missing names it; the wheel
carries the licence, py.typed and the console scripts. Installing every extra, and the oldest
releases the bounds allow, are slow tests (they download gigabytes)."""

import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CORE_SCRIPT = textwrap.dedent(
    """
    import sys
    import jax, jax.numpy as jnp
    import gradjax

    def fn(x):  # (B, 3) -> (B,): the trace of its Hessian is sum(2 cos x - x sin x)
        return jnp.sum(jnp.sin(x) * x, axis=1)

    x = jnp.linspace(0.1, 0.6, 6).reshape(2, 3)
    exact = jnp.sum(2 * jnp.cos(x) - x * jnp.sin(x), axis=1)
    got = gradjax.hessian_trace(fn, x)
    assert jnp.allclose(got, exact, rtol=1e-5), (got, exact)
    estimate = gradjax.hutchinson_trace(fn, x, jax.random.key(0), num_samples=4000)
    assert jnp.allclose(estimate, exact, atol=0.1), (estimate, exact)
    print("ESTIMATED")
    """
)
CORE_ALONE_SCRIPT = CORE_SCRIPT + textwrap.dedent(
    """
    extras = ("flax", "optax", "orbax", "matplotlib", "tensorflow_datasets", "sklearn", "tqdm")
    loaded = [m for m in extras if m in sys.modules]
    assert not loaded, loaded
    try:
        import gradjax.models
    except ImportError as err:
        assert "pip install 'gradjax[train]'" in str(err), err
    else:
        raise AssertionError("gradjax.models imported without flax")
    print("OK")
    """
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    leftover = not (ROOT / "build").exists()  # setuptools builds in the checkout: tidy after it
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(out)],
        check=True,
        capture_output=True,
    )
    if leftover:
        shutil.rmtree(ROOT / "build", ignore_errors=True)
    (built,) = out.glob("gradjax-*.whl")
    return built


def test_the_wheel_carries_its_licence_types_and_commands(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "gradjax/py.typed" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    info = next(n for n in names if n.endswith("entry_points.txt"))
    scripts = zipfile.ZipFile(wheel).read(info).decode()
    for command in ("gradjax-train", "gradjax-eval", "gradjax-reproduce"):
        assert command in scripts
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA")))
    requires = [line for line in metadata.decode().splitlines() if line.startswith("Requires-Dist")]
    core = [line for line in requires if "extra ==" not in line]
    assert sorted(r.split()[1].split(">")[0].split("<")[0] for r in core) == ["jax", "numpy"]


def test_the_core_installs_alone_and_estimates_a_trace(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True, timeout=600)
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", CORE_ALONE_SCRIPT],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # not the checkout: the installed package is what is imported
    )
    assert result.returncode == 0 and "OK" in result.stdout, result.stderr[-2000:]


@pytest.mark.slow
def test_every_extra_installs_and_gradjax_train_runs(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, f"{wheel}[all]"], check=True, capture_output=True, timeout=1800)
    run = subprocess.run(
        [str(venv / "bin" / "gradjax-train"), "--dataset", "digits", "--epochs", "1"]
        + ["--objective", "baseline", "--workdir", str(tmp_path / "run"), "--no-progress"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "test accuracy" in run.stdout


# The oldest releases pyproject.toml allows for the core and the training extra.
LOWER_BOUNDS = [
    "jax==0.4.30",
    "jaxlib==0.4.30",
    "numpy==1.26.4",
    "flax==0.8.5",
    "optax==0.2.2",
    "orbax-checkpoint==0.5.20",
    "tqdm==4.66.0",
]


@pytest.mark.slow
def test_the_lower_bounds_train_and_estimate(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run(
        [*pip, f"{wheel}[train,data]", *LOWER_BOUNDS], check=True, capture_output=True, timeout=1800
    )
    core = subprocess.run(
        [str(venv / "bin" / "python"), "-c", CORE_SCRIPT], capture_output=True, text=True
    )
    assert core.returncode == 0 and "ESTIMATED" in core.stdout, core.stderr[-2000:]
    train = textwrap.dedent(
        """
        from gradjax.training.config import TrainConfig, DataConfig, RunConfig
        from gradjax.training.fit import fit
        config = TrainConfig(data=DataConfig("digits"), run=RunConfig(epochs=1))
        print(fit(config, "run", progress=False)["test_accuracy"])
        """
    )
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", train], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
