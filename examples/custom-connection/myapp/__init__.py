"""An application package holding the example's own Ductflow connection."""
