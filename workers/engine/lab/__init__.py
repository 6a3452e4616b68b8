"""The optimization lab's engine side: the LR range test (range_test.py) and the suggestions
read off its curve (suggest.py). Pure PyTorch and NumPy, no Django."""
