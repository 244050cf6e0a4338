"""The flow: stages, their keys, what reruns."""
