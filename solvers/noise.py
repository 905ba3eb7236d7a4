"""Device noise for QAOA: qiskit-ibm-runtime's offline fake backends on Qiskit Aer.

:func:`noise_models` lists the valid device names and :func:`noise_model_reason`
says why a name is not one (the scenario layer refuses it up front; ``qaoa``
returns an UNSUPPORTED Result naming it). :class:`NoisySetup` transpiles a circuit
to a device and simulates it on the qubits it uses only, with those qubits' errors
(:func:`compact_noise_model`): the same noisy channel as
``AerSimulator.from_backend(fake)`` (tested), much faster on a 133-qubit device.

Public names: :func:`noise_models`, :func:`noise_model_reason`, :func:`fake_backend`,
:func:`compact_noise_model`, :class:`NoisySetup`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

__all__ = ["NoisySetup", "compact_noise_model", "fake_backend", "noise_model_reason",
           "noise_models"]


def noise_models() -> tuple[str, ...]:
    """Every valid ``noise=`` name: qiskit-ibm-runtime's offline fake backends.

    Names are matched case-insensitively, with or without the ``Fake`` prefix and
    the ``V2`` suffix (``"FakeTorino"``, ``"torino"``, ``"fake_manila_v2"``). Empty
    when qiskit-ibm-runtime is not installed.
    """
    try:
        import qiskit_ibm_runtime.fake_provider as fp
    except ImportError:
        return ()
    return tuple(sorted(n for n in dir(fp) if n.startswith("Fake") and n[4:]
                        and not n.startswith("FakeProvider")))


def _noise_key(name: str) -> str:
    key = str(name).strip().lower().replace("_", "").replace("-", "")
    return key[4:] if key.startswith("fake") else key


def _noise_class(name: str) -> str | None:
    """The fake-backend class name ``name`` refers to, or None."""
    choices = {n[4:].lower(): n for n in noise_models()}
    key = _noise_key(name)
    return choices.get(key) or choices.get(key + "v2")


def noise_model_reason(name: str) -> str | None:
    """None when ``name`` is a valid noise model, else why not (naming some valid ones).

    Examples
    --------
    >>> noise_model_reason("FakeTorino") is None
    True
    >>> noise_model_reason("FakeNowhere").startswith("unknown noise model 'FakeNowhere'")
    True
    """
    if _noise_class(name) is not None:
        return None
    names = noise_models()
    if not names:
        return (f"noise model {name!r} needs qiskit-ibm-runtime (its offline fake backends); "
                "install with: pip install 'gridtwin[quantum]'")
    known = ", ".join(n for n in names if not n.endswith("V2"))
    return (f"unknown noise model {name!r}: not a qiskit-ibm-runtime fake backend; "
            f"valid names: {known}")


def fake_backend(name: str) -> Any:
    """The qiskit-ibm-runtime fake backend named ``name`` ("FakeTorino", "torino", ...)."""
    cls_name = _noise_class(name)
    if cls_name is None:
        raise ValueError(noise_model_reason(name))
    return _cached_fake(cls_name)


_FAKES: dict[str, Any] = {}


def _cached_fake(cls_name: str) -> Any:
    if cls_name not in _FAKES:
        import qiskit_ibm_runtime.fake_provider as fp

        _FAKES[cls_name] = getattr(fp, cls_name)()
    return _FAKES[cls_name]


@dataclass(frozen=True)
class NoisySetup:
    """A circuit transpiled to a device, and its compact noisy twin for Aer.

    The device circuit spans all the device's qubits; Aer would carry the
    whole device's noise model into every run (seconds each on a 133-qubit
    device). The compact circuit keeps only the physical qubits the
    transpiled circuit touches, renumbered, and the simulator carries only
    those qubits' errors: the same noisy channel, much faster.
    """

    device_name: str
    device_circuit: QuantumCircuit
    compact_circuit: QuantumCircuit
    simulator: Any
    physical_qubits: list[int]

    @classmethod
    def build(cls, device: str, circuit: QuantumCircuit, *, optimization_level: int,
              simulator_method: str, seed: int | None) -> NoisySetup:
        """Transpile the measured ``circuit`` to ``device`` and build its compact simulator.

        Parameters
        ----------
        device : str
            A :func:`noise_models` name.
        circuit : QuantumCircuit
            The (parametric) circuit with its measurements.
        optimization_level : int
            Transpiler optimisation level.
        simulator_method : str
            Aer simulation method.
        seed : int or None
            Transpiler and simulator seed.
        """
        from qiskit import QuantumCircuit
        from qiskit.transpiler import generate_preset_pass_manager
        from qiskit_aer import AerSimulator

        fake = fake_backend(device)
        circ = circuit
        pm = generate_preset_pass_manager(optimization_level=optimization_level,
                                          backend=fake,
                                          seed_transpiler=0 if seed is None else int(seed))
        dev = pm.run(circ)
        used = sorted({dev.find_bit(q).index for inst in dev.data for q in inst.qubits
                       if inst.operation.name != "barrier"})
        pos = {q: i for i, q in enumerate(used)}
        compact = QuantumCircuit(len(used), name=dev.name)
        for creg in dev.cregs:
            compact.add_register(creg)
        for inst in dev.data:
            qubits = [pos[dev.find_bit(q).index] for q in inst.qubits
                      if dev.find_bit(q).index in pos]
            if inst.operation.name == "barrier":
                if qubits:
                    compact.barrier(qubits)
                continue
            clbits = [compact.clbits[dev.find_bit(c).index] for c in inst.clbits]
            compact.append(inst.operation, [compact.qubits[i] for i in qubits], clbits)
        noise = compact_noise_model(device, used)
        opts: dict[str, Any] = {"method": simulator_method, "noise_model": noise}
        if seed is not None:
            opts["seed_simulator"] = int(seed) % (2**31)
        return cls(fake.name, dev, compact, AerSimulator(**opts), used)


_NOISE_MODELS: dict[str, Any] = {}


def compact_noise_model(device: str, physical: Sequence[int]) -> Any:
    """The device's Aer noise model restricted to ``physical`` qubits, renumbered 0..k-1."""
    from qiskit_aer.noise import NoiseModel

    fake = fake_backend(device)
    full = _NOISE_MODELS.get(fake.name)
    if full is None:
        full = NoiseModel.from_backend(fake)
        _NOISE_MODELS[fake.name] = full
    pos = {q: i for i, q in enumerate(physical)}
    out = NoiseModel(basis_gates=full.basis_gates)
    for gate, by_qubits in full._local_quantum_errors.items():
        for qubits, error in by_qubits.items():
            if all(q in pos for q in qubits):
                out.add_quantum_error(error, gate, [pos[q] for q in qubits], warnings=False)
    for qubits, error in full._local_readout_errors.items():
        if all(q in pos for q in qubits):
            out.add_readout_error(error, [pos[q] for q in qubits], warnings=False)
    return out
