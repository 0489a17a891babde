"""Parameter-efficient adapters (PEFT) trained with Accelerate/DeepSpeed on the claims."""
