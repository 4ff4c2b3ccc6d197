"""For the research coordinator: consent and withdrawal, reports and exports."""
