# Thin wrappers around tools/dev, which does the real work.
.PHONY: run test setup
run:
	bash tools/dev run $(ROUTINE)
test:
	bash tools/dev test
setup:
	bash tools/dev setup
