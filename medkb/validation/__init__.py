"""Great Expectations suites over staged rows; failing rows go to the quarantine (medkb.staging.quarantine)."""
