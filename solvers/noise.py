"""Device noise for QAOA: qiskit-ibm-runtime's offline fake backends on Qiskit Aer.

:func:`noise_models` lists the valid device names and :func:`noise_model_reason`
says why a name is not one (the scenario layer refuses it up front; ``qaoa``
returns an UNSUPPORTED Result naming it). :class:`NoisySetup` transpiles a circuit
to a device and simulates it on the qubits it uses only, with those qubits' errors
(:func:`compact_noise_model`): the same noisy channel as
``AerSimulator.from_backend(fake)`` (tested), much faster on a 133-qubit device.

The noise scale: ``two_qubit_error_scale`` multiplies the device's calibrated two-qubit
gate errors (:func:`compact_target`) before the noise model is derived, the axis along
which a break-even two-qubit error rate is found; the use-weighted mean error of the
circuit's two-qubit gates is reported (:func:`two_qubit_error_mean`).

Public names: :func:`noise_models`, :func:`noise_model_reason`, :func:`fake_backend`,
:func:`compact_noise_model`, :func:`compact_target`, :func:`two_qubit_error_mean`,
:class:`NoisySetup`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

__all__ = ["NoisySetup", "compact_noise_model", "compact_target", "fake_backend",
           "noise_model_reason", "noise_models", "two_qubit_error_mean"]


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
    two_qubit_error_scale: float = 1.0
    two_qubit_error_mean: float | None = None
    """Use-weighted mean error of the circuit's two-qubit gates, scale applied. [-]"""

    @classmethod
    def build(cls, device: str, circuit: QuantumCircuit, *, optimization_level: int,
              simulator_method: str, seed: int | None,
              two_qubit_error_scale: float = 1.0) -> NoisySetup:
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
        two_qubit_error_scale : float
            Factor on the device's two-qubit gate errors (:func:`compact_noise_model`). [-]
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
        noise = compact_noise_model(device, used, two_qubit_error_scale)
        opts: dict[str, Any] = {"method": simulator_method, "noise_model": noise}
        if seed is not None:
            opts["seed_simulator"] = int(seed) % (2**31)
        mean = two_qubit_error_mean(compact_target(device, used, two_qubit_error_scale),
                                    compact)
        return cls(fake.name, dev, compact, AerSimulator(**opts), used,
                   float(two_qubit_error_scale), mean)


def compact_noise_model(device: str, physical: Sequence[int],
                        two_qubit_error_scale: float = 1.0) -> Any:
    """The device's Aer noise model restricted to ``physical`` qubits, renumbered 0..k-1.

    Built the way ``NoiseModel.from_backend`` builds the whole device's model (qiskit-aer's
    public ``basic_device_gate_errors`` and ``basic_device_readout_errors``: each gate's
    depolarizing error composed with its T1/T2 relaxation, readout errors from the
    measurement's calibration), but from :func:`compact_target`, so only those qubits'
    errors are carried. ``two_qubit_error_scale`` multiplies every two-qubit gate's
    calibrated error before the depolarizing part is derived (1: the device as
    calibrated; 0: relaxation only; values that would exceed the physical bound are
    truncated by qiskit-aer). [-]
    """
    from qiskit_aer.noise import NoiseModel
    from qiskit_aer.noise.device import (
        basic_device_gate_errors,
        basic_device_readout_errors,
    )

    target = compact_target(device, physical, two_qubit_error_scale)
    out = NoiseModel(basis_gates=list(fake_backend(device).operation_names))
    for qubits, error in basic_device_readout_errors(target=target):
        out.add_readout_error(error, qubits, warnings=False)
    for name, qubits, error in basic_device_gate_errors(target=target):
        out.add_quantum_error(error, name, qubits, warnings=False)
    return out


def compact_target(device: str, physical: Sequence[int],
                   two_qubit_error_scale: float = 1.0) -> Any:
    """The device's ``Target`` on ``physical`` qubits only (renumbered 0..k-1), with
    every two-qubit instruction's error times ``two_qubit_error_scale`` (capped at 1).

    Examples
    --------
    >>> t = compact_target("FakeManilaV2", [0, 1], two_qubit_error_scale=2.0)
    >>> full = fake_backend("FakeManilaV2").target
    >>> abs(t["cx"][(0, 1)].error - 2 * full["cx"][(0, 1)].error) < 1e-15
    True
    """
    from qiskit.transpiler import InstructionProperties, Target

    scale = float(two_qubit_error_scale)
    if not math.isfinite(scale) or scale < 0:
        raise ValueError(f"two_qubit_error_scale must be a finite number >= 0, got {scale!r}")
    full = fake_backend(device).target
    pos = {int(q): i for i, q in enumerate(physical)}
    props = full.qubit_properties
    out = Target(num_qubits=len(pos), dt=full.dt,
                 qubit_properties=[props[q] for q in pos] if props else None)
    for name in full.operation_names:
        by_qargs = full[name]
        if by_qargs is None or any(qargs is None for qargs in by_qargs):
            continue
        kept: dict[tuple[int, ...], Any] = {}
        for qargs, prop in by_qargs.items():
            if not all(q in pos for q in qargs):
                continue
            if prop is not None and len(qargs) == 2 and prop.error is not None:
                prop = InstructionProperties(duration=prop.duration,
                                             error=min(1.0, prop.error * scale))
            kept[tuple(pos[q] for q in qargs)] = prop
        if kept:
            out.add_instruction(full.operation_from_name(name), kept, name=name)
    return out


def two_qubit_error_mean(target: Any, circuit: QuantumCircuit) -> float | None:
    """Mean calibrated error of ``circuit``'s two-qubit gates on ``target`` (a compact
    target and the compact circuit), weighted by use; None without two-qubit gates. [-]"""
    errors = []
    for inst in circuit.data:
        if inst.operation.num_qubits != 2 or inst.operation.name == "barrier":
            continue
        qargs = tuple(circuit.find_bit(q).index for q in inst.qubits)
        prop = target[inst.operation.name].get(qargs) if inst.operation.name in target \
            else None
        if prop is not None and prop.error is not None:
            errors.append(float(prop.error))
    return float(sum(errors) / len(errors)) if errors else None
